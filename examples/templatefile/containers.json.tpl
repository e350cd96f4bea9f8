[
  {
    "name": "runner",
    "image": "${image}",
    "essential": true,
    "environment": [
      { "name": "GITHUB_TOKEN", "value": "${github_token}" },
      { "name": "OAUTH_CLIENT_ID", "value": "${oauth_client}" }
    ],
    "logConfiguration": {
      "logDriver": "awslogs",
      "options": { "awslogs-group": "${log_group}", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "runner" }
    }
  }
]
