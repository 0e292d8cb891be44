"""`python -m services.survey [--port 8002] [--migrate]`."""

from services.survey.app import create_app
from shared.serve import serve

if __name__ == "__main__":
    serve(create_app, 8002)
