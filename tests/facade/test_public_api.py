"""The public API carries type hints (PEP 561: gdfast ships py.typed): every
public function, constructor and method reachable from gdfast.__all__, and
the public functions of gdfast.schedules and gdfast.images."""
import enum
import inspect

import pytest

import gdfast
import gdfast.images
import gdfast.schedules


def _public_callables():
    for name in gdfast.__all__:
        obj = getattr(gdfast, name)
        if inspect.isfunction(obj):
            yield f"gdfast.{name}", obj
        elif inspect.isclass(obj) and not issubclass(obj, (enum.Enum, dict)):
            for attr, member in vars(obj).items():
                if inspect.isfunction(member) and (attr == "__init__" or not attr.startswith("_")
                                                   or attr == "__getitem__"):
                    yield f"gdfast.{name}.{attr}", member
    for module in (gdfast.schedules, gdfast.images):
        for name, obj in vars(module).items():
            if inspect.isfunction(obj) and not name.startswith("_") and \
                    obj.__module__ == module.__name__:
                yield f"{module.__name__}.{name}", obj


CALLABLES = dict(_public_callables())


def test_there_are_public_callables_to_check():
    assert {"gdfast.minimize", "gdfast.denoise", "gdfast.minimize_batch", "gdfast.Adam.__init__",
            "gdfast.Optimizer.step", "gdfast.schedules.cosine_decay"} <= set(CALLABLES)


@pytest.mark.parametrize("name", sorted(CALLABLES))
def test_every_parameter_and_return_is_annotated(name):
    sig = inspect.signature(CALLABLES[name])
    missing = [p.name for p in sig.parameters.values()
               if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               and p.annotation is inspect.Parameter.empty]
    assert not missing, f"{name}: parameters without a type hint: {missing}"
    assert sig.return_annotation is not inspect.Signature.empty, f"{name}: no return type"
