"""wsgi.py, what gunicorn serves: the app built once per worker, and start-up's heap frozen out of the collector."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_served_app_freezes_what_start_up_built(tmp_path):
    # A full collection of start-up's objects stopped every request thread of a worker for ~90 ms (issue 8).
    probe = "import gc, wsgi; print(gc.get_freeze_count(), len(gc.get_objects()))"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/lims.db", "LIMS_SECRET_KEY": "test"}
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    frozen, still_collected = int(out[0]), int(out[1])
    assert frozen > 50_000  # the modules, mappers and schemas of the app
    assert still_collected < frozen / 10


DOMAINS = ["auth", "audit", "lots", "studies", "doses", "labels", "chainofcustody"]


def test_the_services_import_after_any_one_domains_models():
    # The benchmarks and the CLI import models and services before the app exists (bench/labels.py imports
    # lims.doses.models first): nothing may need every mapper configured at import time.
    services = "; ".join(f"import lims.{d}.services" for d in DOMAINS)
    for domain in DOMAINS:
        run = subprocess.run([sys.executable, "-c", f"import lims.{domain}.models; {services}"], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, f"lims.{domain}.models first: {run.stderr[-500:]}"
