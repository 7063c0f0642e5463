"""The REST API's wire contract: pydantic models shared by the routes and the typed client."""
