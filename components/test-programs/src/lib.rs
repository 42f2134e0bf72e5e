//! Shared helpers of the test programs (kept empty: each guest stands alone).
