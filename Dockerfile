# One image for the API and the worker (docker-compose.yml picks the command).
FROM node:20-bookworm-slim
WORKDIR /app
# HOST: the API answers from outside the container (its default is loopback only).
ENV NODE_ENV=production HOST=0.0.0.0
COPY package.json package-lock.json ./
# Install scripts are not needed at run time here: argon2 and swc load their
# prebuilt binaries, and the embedded PostgreSQL is never used (DATABASE_URL is set).
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY . .
USER node
EXPOSE 3000
# node itself, not npm: npm does not pass `docker stop`'s SIGTERM on, and the
# service drains requests and workflows only when it gets it.
CMD ["node", "--import", "tsx", "api/main.ts"]
