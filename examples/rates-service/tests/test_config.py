import pytest

from rates.config import Config, ConfigError, load_config


def test_defaults_serve_on_8080_without_a_cache():
    assert load_config({}) == Config(host="0.0.0.0", port=8080, cache_size=0, shutdown_grace_seconds=10)
    assert load_config({"PORT": "0", "RATES_CACHE_SIZE": " 64 ", "HOST": "127.0.0.1"}) == Config(
        host="127.0.0.1", port=0, cache_size=64
    )


@pytest.mark.parametrize(
    "env, message",
    [
        ({"RATES_CACHE_SIZE": "lots"}, 'RATES_CACHE_SIZE must be a whole number from 0 to 1000000, got "lots"'),
        ({"RATES_CACHE_SIZE": "-1"}, 'got "-1"'),
        ({"RATES_CACHE_SIZE": "1.5"}, 'got "1.5"'),
        ({"PORT": "70000"}, 'PORT must be a whole number from 0 to 65535, got "70000"'),
    ],
)
def test_a_bad_setting_is_refused_with_the_variable_range_and_value(env, message):
    with pytest.raises(ConfigError) as refused:
        load_config(env)
    assert message in str(refused.value)
