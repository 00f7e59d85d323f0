import pytest

from joulebench.errors import UserError
from joulebench.registry import Registry


def test_register_get_names_and_help():
    reg: Registry[int] = Registry("widget")

    @reg.register("early_exit", help="leave early")
    def f():
        return 1

    assert reg.get("early_exit") is f
    assert reg.names() == ["early_exit"]
    assert reg.describe("early_exit") == "leave early"
    assert "early_exit" in reg


def test_miss_suggests_close_name():
    reg: Registry[int] = Registry("reduction")
    reg.register("early_exit")(1)
    with pytest.raises(UserError, match=r"unknown reduction 'early-exit'; did you mean 'early_exit'\?"):
        reg.get("early-exit")


def test_double_registration_is_an_error():
    reg: Registry[int] = Registry("task")
    reg.register("a")(1)
    with pytest.raises(ValueError):
        reg.register("a")(2)
