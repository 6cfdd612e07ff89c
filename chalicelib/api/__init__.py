"""HTTP edge: blueprints for the portal and admin APIs, authentication, error mapping."""
