"""`python -m services.kpi [--port 8004] [--migrate]`."""

from services.kpi.app import create_app
from shared.serve import serve

if __name__ == "__main__":
    serve(create_app, 8004)
