"""Start and stop a tenant's worker: ECS Fargate in AWS, a subprocess locally."""
