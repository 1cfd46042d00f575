from lims import create_app

app = create_app()
