"""`python -m services.complaint [--port 8003] [--migrate]`."""

from services.complaint.app import create_app
from shared.serve import serve

if __name__ == "__main__":
    serve(create_app, 8003)
