"""`python -m gateway [--migrate] [--port 8000]`."""

from gateway.app import create_app
from shared.serve import serve

if __name__ == "__main__":
    serve(create_app, 8000)
