"""server_host is a bare host name or IP address: a scheme, a port or a path is refused by name."""
import pytest

from chariots.config import ChariotsConfig, OpStoreConfig, PipelinesConfig
from chariots.errors import ConfigError

BARE = "must be a bare host name or IP address (like 'localhost', '127.0.0.1' or '::1'), got "

REFUSED = {
    "http scheme": (OpStoreConfig, "http://localhost",
                    f"op_store.server_host {BARE}'http://localhost': remove the scheme 'http://'; "
                    "did you mean 'localhost'?"),
    "https scheme": (PipelinesConfig, "https://x",
                     f"pipelines.server_host {BARE}'https://x': remove the scheme 'https://'; did you mean 'x'?"),
    "port": (OpStoreConfig, "localhost:5000",
             f"op_store.server_host {BARE}'localhost:5000': remove the port (set op_store.server_port: 5000 "
             "instead); did you mean 'localhost'?"),
    "scheme, port and path": (
        PipelinesConfig, "http://example.com:8000/api",
        f"pipelines.server_host {BARE}'http://example.com:8000/api': remove the scheme 'http://' and the port "
        "(set pipelines.server_port: 8000 instead) and the path; did you mean 'example.com'?"),
    "bracketed IPv6 with a port": (
        OpStoreConfig, "[::1]:5001",
        f"op_store.server_host {BARE}'[::1]:5001': remove the port (set op_store.server_port: 5001 instead); "
        "did you mean '::1'?"),
    "space": (OpStoreConfig, "my host", f"op_store.server_host {BARE}'my host'"),
    "empty": (PipelinesConfig, "", f"pipelines.server_host {BARE}''"),
}


@pytest.mark.parametrize("section_class, host, message", list(REFUSED.values()), ids=list(REFUSED))
def test_a_host_that_is_not_bare_is_refused(section_class, host, message):
    with pytest.raises(ConfigError) as info:
        section_class(server_host=host)
    assert str(info.value) == message


def test_a_scheme_in_a_file_is_refused_naming_the_file(write_config):
    path = write_config("op_store:\n  server_host: 'http://localhost'\n")
    with pytest.raises(ConfigError) as info:
        ChariotsConfig(path)
    assert str(info.value) == (
        f"config file {str(path)!r}: op_store.server_host {BARE}'http://localhost': remove the scheme 'http://'; "
        "did you mean 'localhost'?"
    )


@pytest.mark.parametrize(
    "host, url",
    [
        ("::1", "http://[::1]:5001"),
        ("[::1]", "http://[::1]:5001"),
        ("fe80::1ff:fe23:4567:890a", "http://[fe80::1ff:fe23:4567:890a]:5001"),
        ("localhost", "http://localhost:5001"),
        ("10.0.0.2", "http://10.0.0.2:5001"),
        ("op-store.internal.example.com", "http://op-store.internal.example.com:5001"),
        ("op_store_1", "http://op_store_1:5001"),
    ],
)
def test_bare_hosts_and_ipv6_addresses_are_accepted(host, url):
    config = OpStoreConfig(server_host=host)
    assert config.url == url
    assert config.get_client().url == url


def test_an_ipv6_pipelines_host_reaches_the_client():
    config = PipelinesConfig(server_host="::1", server_port=8000)
    assert config.get_client().backend_url == "http://[::1]:8000"
