# TrustServer API server (Notary v1 protocol). Build from the repository root:
#   docker build -f deploy/docker/server.Dockerfile -t trustserver/server:dev .
# Runs as the non-root `app` user of the .NET images; writes nothing outside /app/data (a volume, only used by the
# embedded SQLite default) and /tmp, so it runs with a read-only root filesystem.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first (cached while only sources change).
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/TrustServer.Tuf/TrustServer.Tuf.csproj src/TrustServer.Tuf/
COPY src/TrustServer.Data/TrustServer.Data.csproj src/TrustServer.Data/
COPY src/TrustServer.Signing/TrustServer.Signing.csproj src/TrustServer.Signing/
COPY src/TrustServer.Server/TrustServer.Server.csproj src/TrustServer.Server/
# The runtime of the target platform (buildx's TARGETARCH: amd64 or arm64): the publish precompiles ReadyToRun code
# for it (start-up, README "Start-up"); the image stays framework-dependent on the aspnet runtime image.
ARG TARGETARCH
RUN echo "linux-$([ "$TARGETARCH" = arm64 ] && echo arm64 || echo x64)" > /tmp/rid \
 && dotnet restore src/TrustServer.Server/TrustServer.Server.csproj -r "$(cat /tmp/rid)"
COPY src/ src/
RUN dotnet publish src/TrustServer.Server/TrustServer.Server.csproj -c Release -r "$(cat /tmp/rid)" --no-restore -o /app /p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
# /app/data: the embedded default's SQLite database and generated passphrase (mount a volume to keep them).
RUN mkdir -p /app/data && chown "$APP_UID" /app/data
VOLUME ["/app/data"]
ENV ASPNETCORE_URLS=http://+:4443
EXPOSE 4443
USER $APP_UID
# Liveness over plain HTTP without curl/wget in the image (bash's /dev/tcp); with HTTPS use the orchestrator's probe.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/4443 && printf 'GET /healthz/live HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["dotnet", "TrustServer.Server.dll"]
