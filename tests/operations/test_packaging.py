"""The run command installs the server's dependencies only (pyproject's [project] dependencies, as uv.lock resolves
them): no test tool on a production server, and nothing the server imports left to the dev group."""
import ast
import importlib.metadata
import re
import sys
import tomllib

from tests.reliability.servers import PROJECT

LOCK = tomllib.loads((PROJECT / "uv.lock").read_text())
PROJECT_NAME = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["name"]
TEST_TOOLS = {"pytest", "pytest-xdist", "pytest-timeout", "schemathesis", "playwright", "hypothesis", "py-spy",
              "ruff", "pypdf", "pypdfium2", "zxing-cpp"}


def normalized(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_closure():
    """Every package the run command installs: the project's dependencies and theirs (with extras), on Linux."""
    packages = {p["name"]: p for p in LOCK["package"]}
    wanted, seen = [(PROJECT_NAME, ())], set()
    while wanted:
        name, extras = wanted.pop()
        package = packages[name]
        edges = list(package.get("dependencies", []))  # the dev group is apart, under dev-dependencies
        for extra in extras:
            edges += package.get("optional-dependencies", {}).get(extra, [])
        for edge in edges:
            if "sys_platform == 'win32'" in edge.get("marker", "") or "!= 'CPython'" in edge.get("marker", ""):
                continue
            if (edge["name"], tuple(edge.get("extra", ()))) not in seen:
                seen.add((edge["name"], tuple(edge.get("extra", ()))))
                wanted.append((edge["name"], tuple(edge.get("extra", ()))))
    return {normalized(name) for name, _ in seen}


def test_the_run_commands_set_holds_no_test_tool():
    runtime = runtime_closure()
    assert {"flask", "gunicorn", "psycopg", "weasyprint"} <= runtime
    assert runtime & {normalized(t) for t in TEST_TOOLS} == set()


def _third_party_imports():
    local = {"lims", "config", "wsgi"}
    found = set()
    for path in [*PROJECT.joinpath("lims").rglob("*.py"), PROJECT / "wsgi.py", PROJECT / "config.py"]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in local and top not in sys.stdlib_module_names:
                    found.add(top)
    return found


def test_everything_the_server_imports_is_in_the_run_commands_set():
    runtime = runtime_closure()
    providers = importlib.metadata.packages_distributions()
    missing = {module: providers.get(module) for module in _third_party_imports()
               if not {normalized(d) for d in providers.get(module, [])} & runtime}
    assert missing == {}, f"imported by lims/ but not a runtime dependency in pyproject.toml: {missing}"
