"""Label printing cost: ms per label for 1 and 100 labels through the real path (services.print_labels: row locks,
LabelPrint rows, audit, QR + Code 128 SVGs, Jinja, WeasyPrint with the asset-only fetcher), against a floor of bare
WeasyPrint rendering the very same HTML.

    .venv/bin/python bench/labels.py [--repeat 5] [--bags 5] [--profile]

Builds its own temporary SQLite database (migrated like the tests' template) with a handful of prepared bags (a
label prints once its dose is prepared); the 100-label batch cycles over them as counted reprints, which render
exactly as originals do.
"""
import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import weasyprint
from flask_migrate import upgrade
from sqlalchemy import select

import config
from lims import create_app
from lims.auth.models import User
from lims.doses.models import Bag
from lims.extensions import db
from lims.labels import render, services
from tests.support import ApiClient, Users, enrol, expansion_study, prepared_dose, released_lot

FAST_HASH = {"LIMS_ARGON2_MEMORY_KIB": 1024, "LIMS_ARGON2_TIME_COST": 1}


def build(app, n_bags):
    users = Users.create()
    api = ApiClient(app, users)
    lot = released_lot(api, containers=3 * n_bags + 3)
    study = expansion_study(api, size=max(21, n_bags))
    codes = []
    for i in range(n_bags):
        subject = enrol(api, study["id"], code=f"S-{i + 1:03d}", cohort="Expansion")
        codes.append(prepared_dose(api, subject["id"], lot["id"])["bag"]["code"])
    return codes


def timed(fn, repeat):
    """Best and median wall time (s) of repeat runs."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return min(runs), statistics.median(runs)


def html_of(codes, app):
    bags = [db.session.scalar(select(Bag).where(Bag.code == c)) for c in codes]
    contexts = [services.label_context(b, 2, "benchmark") for b in bags]
    cfg = app.config
    return render.html_for("labels/bag_label.html", labels=contexts, width_in=cfg["LIMS_LABEL_WIDTH_IN"],
                           height_in=cfg["LIMS_LABEL_HEIGHT_IN"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--bags", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile one 100-label batch")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="lims-bench-")
    app = create_app(config.TestConfig, DATABASE_URL=f"sqlite:///{tmp}/bench.db", **FAST_HASH)
    with app.app_context():
        upgrade()
        codes = build(app, args.bags)
        user = db.session.scalar(select(User).where(User.username == "pharm1"))
        for code in codes:  # the originals, so every timed print below is the same kind (a reprint)
            services.print_labels(user, [code])
        batch = [codes[i % len(codes)] for i in range(100)]

        def real(n):
            return lambda: services.print_labels(user, batch[:n], "benchmark")

        html = {n: html_of(batch[:n], app) for n in (1, 100)}
        base = str(render.ASSETS) + "/"

        def bare(n):  # the floor: WeasyPrint alone, same HTML, same stylesheet and fonts, default fetcher
            return lambda: weasyprint.HTML(string=html[n], base_url=base).write_pdf()

        def bare_no_base(n):  # the literal floor: no base_url, so label.css and the fonts are never loaded
            return lambda: weasyprint.HTML(string=html[n]).write_pdf()

        def contexts_only(n):  # the non-WeasyPrint share: QR + Code 128 SVGs and Jinja, no database writes
            return lambda: html_of(batch[:n], app)

        real(1)()  # warm caches (fonts, templates) before timing
        bare(1)()
        rows = []
        for n in (1, 100):
            repeat = args.repeat if n == 1 else max(2, args.repeat // 2)
            results = {name: timed(fn(n), repeat) for name, fn in
                       (("real", real), ("bare", bare), ("bare_no_base", bare_no_base),
                        ("contexts", contexts_only))}
            rows.append((n, results))

        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, WeasyPrint {weasyprint.__version__}")
        print(f"{'labels':>6} | {'real ms/label':>13} | {'bare WP ms/label':>16} | {'ratio':>5} | "
              f"{'bare, no CSS/fonts':>18} | {'QR+C128+Jinja':>13}")
        for n, r in rows:
            real_ms, bare_ms = r["real"][1] * 1000 / n, r["bare"][1] * 1000 / n
            print(f"{n:>6} | {real_ms:>13.1f} | {bare_ms:>16.1f} | {real_ms / bare_ms:>5.2f} | "
                  f"{r['bare_no_base'][1] * 1000 / n:>18.1f} | {r['contexts'][1] * 1000 / n:>13.1f}")
        print("(medians; ratio = real / bare WeasyPrint with the same stylesheet and fonts)")

        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(real(100))
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
