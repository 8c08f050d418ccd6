# TrustServer signer (notary-signer compatible gRPC service). Build from the repository root:
#   docker build -f deploy/docker/signer.Dockerfile -t trustserver/signer:dev .
# Runs as the non-root `app` user of the .NET images; writes nothing outside /app/data (a volume, only used by the
# SQLite default) and /tmp, so it runs with a read-only root filesystem. TLS is mandatory: mount the certificates
# and set Tls__CertFile, Tls__KeyFile and Tls__ClientCaFile.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/TrustServer.Tuf/TrustServer.Tuf.csproj src/TrustServer.Tuf/
COPY src/TrustServer.Data/TrustServer.Data.csproj src/TrustServer.Data/
COPY src/TrustServer.Signing/TrustServer.Signing.csproj src/TrustServer.Signing/
COPY src/TrustServer.Signer/TrustServer.Signer.csproj src/TrustServer.Signer/
# The runtime of the target platform (buildx's TARGETARCH: amd64 or arm64): the publish precompiles ReadyToRun code
# for it (start-up, README "Start-up"); the image stays framework-dependent on the aspnet runtime image.
ARG TARGETARCH
RUN echo "linux-$([ "$TARGETARCH" = arm64 ] && echo arm64 || echo x64)" > /tmp/rid \
 && dotnet restore src/TrustServer.Signer/TrustServer.Signer.csproj -r "$(cat /tmp/rid)"
COPY src/ src/
RUN dotnet publish src/TrustServer.Signer/TrustServer.Signer.csproj -c Release -r "$(cat /tmp/rid)" --no-restore -o /app /p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
RUN mkdir -p /app/data && chown "$APP_UID" /app/data
VOLUME ["/app/data"]
ENV ASPNETCORE_URLS=https://+:7899
EXPOSE 7899
USER $APP_UID
# The gRPC health service needs mutual TLS; the image has no gRPC client, so this only checks the port accepts.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/7899"]
ENTRYPOINT ["dotnet", "TrustServer.Signer.dll"]
