[
  {
    "name": "api",
    "image": "${image}",
    "essential": true,
    "environment": [
      { "name": "DB_HOST", "value": "shop-db.internal" },
      { "name": "DB_PASSWORD", "value": "${db_password}" }
    ]
  }
]
