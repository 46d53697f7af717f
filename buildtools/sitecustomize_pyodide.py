"""Shipped as sitecustomize in the page's python_stdlib.zip (Python imports it at start-up).

zcgpt's build ships only the modules of the standard library and of numpy that the page imports
(buildtools/trim.py). Should anything ask for one it left out, the import fails as it would
anyway, but saying which module it is and what to do, instead of a bare "No module named".
The names it left out are in LEFT_OUT_FILE beside this module, read only when an import fails.
"""
import sys

LEFT_OUT_FILE = "zcgpt-left-out.txt"


class LeftOutByBuild:
    """Last on sys.meta_path: reached only when no other finder has the module."""

    left_out = None

    @classmethod
    def names(cls):
        if cls.left_out is None:
            try:
                text = __loader__.get_data(__file__.rpartition("/")[0] + "/" + LEFT_OUT_FILE).decode()
            except (NameError, AttributeError, OSError):
                text = ""
            cls.left_out = frozenset(text.split())
        return cls.left_out

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name in cls.names():
            raise ModuleNotFoundError(
                f"No module named {name!r}: zcgpt's build left it out of the page's Python, which ships "
                f"only the modules the page imports; add {name!r} to the safety margin in "
                f"buildtools/trim.py and build again", name=name)
        return None


sys.meta_path.append(LeftOutByBuild)
