// Runs once, when the mongo container initialises an empty data volume (the image runs the files
// in /docker-entrypoint-initdb.d as the root user): the services' user, allowed to read and write
// the three service databases and nothing else. Its name and password come from .env
// (scripts/env); changing them later does not change this user, which exists from then on.
const services = ["goals", "questionnaires", "notifications"];
db.getSiblingDB("admin").createUser({
  user: process.env.MONGO_APP_USER,
  pwd: process.env.MONGO_APP_PASSWORD,
  roles: services.map((service) => ({ role: "readWrite", db: `stepwise_${service}` })),
});
