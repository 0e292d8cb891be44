"""`python -m services.customer [--port 8001] [--migrate]`."""

from services.customer.app import create_app
from shared.serve import serve

if __name__ == "__main__":
    serve(create_app, 8001)
