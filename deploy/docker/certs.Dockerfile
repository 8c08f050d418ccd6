# One-shot helper of docker-compose.yml: generates throw-away certificates into /certs (see deploy/compose/gen-certs.sh).
FROM alpine:3.21
RUN apk add --no-cache bash openssl
COPY deploy/compose/gen-certs.sh /usr/local/bin/gen-certs.sh
ENTRYPOINT ["bash", "/usr/local/bin/gen-certs.sh", "/certs"]
