# One-shot init step of docker-compose.yml: generates throw-away TLS certificates into /certs
# (deploy/compose/gen-certs.sh) and the token issuer's certificates and admin password into /auth
# (deploy/compose/gen-auth.sh; OpenSSL 3 computes the password hash).
FROM alpine:3.21
RUN apk add --no-cache bash openssl
COPY deploy/compose/gen-certs.sh /usr/local/bin/gen-certs.sh
COPY deploy/compose/gen-auth.sh /usr/local/bin/gen-auth.sh
ENTRYPOINT ["bash", "-c", "bash /usr/local/bin/gen-certs.sh /certs && bash /usr/local/bin/gen-auth.sh /auth"]
