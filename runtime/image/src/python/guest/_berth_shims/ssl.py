"""berth's stand-in for `ssl` on WASI, where CPython has no `_ssl` and there is no network.

Importing it works (libraries such as pygelf import `ssl` at the top level); using TLS raises
`SSLError`.
"""

import enum as _enum
import socket as _socket

_UNAVAILABLE = "TLS is not available: this component runs on WASI without network access"

OPENSSL_VERSION = "unavailable (berth WASI sandbox)"
OPENSSL_VERSION_INFO = (0, 0, 0, 0, 0)
HAS_SNI = False
HAS_ALPN = False
HAS_NEVER_CHECK_COMMON_NAME = False
CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED = 0, 1, 2
PROTOCOL_TLS = PROTOCOL_SSLv23 = 2
PROTOCOL_TLS_CLIENT = 16
PROTOCOL_TLS_SERVER = 17
OP_ALL = OP_NO_SSLv2 = OP_NO_SSLv3 = OP_NO_COMPRESSION = OP_NO_TICKET = 0


class SSLError(OSError):
    pass


class SSLZeroReturnError(SSLError):
    pass


class SSLWantReadError(SSLError):
    pass


class SSLWantWriteError(SSLError):
    pass


class SSLSyscallError(SSLError):
    pass


class SSLEOFError(SSLError):
    pass


class SSLCertVerificationError(SSLError, ValueError):
    pass


CertificateError = SSLCertVerificationError


class Purpose(_enum.Enum):
    SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
    CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"


class TLSVersion(_enum.IntEnum):
    MINIMUM_SUPPORTED = -2
    SSLv3 = 768
    TLSv1 = 769
    TLSv1_1 = 770
    TLSv1_2 = 771
    TLSv1_3 = 772
    MAXIMUM_SUPPORTED = -1


class SSLContext:
    def __init__(self, protocol=PROTOCOL_TLS, *args, **kwargs):
        raise SSLError(_UNAVAILABLE)


class SSLSocket(_socket.socket):
    def __init__(self, *args, **kwargs):
        raise SSLError(_UNAVAILABLE)


def create_default_context(*args, **kwargs):
    raise SSLError(_UNAVAILABLE)


def wrap_socket(*args, **kwargs):
    raise SSLError(_UNAVAILABLE)


_create_default_https_context = create_default_context
_create_unverified_context = create_default_context
