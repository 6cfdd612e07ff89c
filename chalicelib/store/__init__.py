"""DynamoDB store: PynamoDB models, conditional writes and the repository the app uses."""
