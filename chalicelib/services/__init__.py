"""Use cases between the routes and the store: routes parse, call one of these, present."""
