//! berth-image's one integration-test binary; each module owns one area.

// Image test helpers: wat guests, raw pushes, a fake registry, running a resolved module.
mod image_support;
// Pull/push against the real test registries: round trip, digests, missing repo/tag, auth.
mod image_registry;
// Image kinds from manifests: skopeo-copied layout, wasi/wasm image, container, local, docker://.
mod image_kinds;
// Digest verification and retries against a fake registry: wrong bytes, corrupt store, 503s.
mod image_tamper;
