import gc

from lims import create_app

app = create_app()

# What start-up built (modules, mappers, compiled schemas: some 170,000 objects) lives as long as the process. A full
# collection walks all of it, about 90 ms with every request thread of the worker stopped: the slowest bedside checks
# were those collections. Frozen, the collector only walks what requests allocate.
gc.freeze()
