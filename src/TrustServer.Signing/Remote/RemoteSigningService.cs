using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Net.Client.Configuration;
using Microsoft.Extensions.Logging;
using TrustServer.Signing.Protocol;
using TrustServer.Tuf;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;
using ProtoKeyId = TrustServer.Signing.Protocol.KeyID;

namespace TrustServer.Signing.Remote;

/// <summary>
/// <see cref="ISigningService"/> over notary-signer's gRPC API (spec signer.md §7), usable with our signer or the real
/// notary-signer: mutual TLS, a deadline on every call, retries while the signer is unavailable. Unlike notary-server,
/// a key the signer does not know counts as "not held" rather than aborting the signing (signer.md §7 recommendation).
/// Transport failures surface as <see cref="SignerUnavailableException"/>.
/// </summary>
public sealed partial class RemoteSigningService : ISigningService, ISignerHealth, IDisposable
{
    /// <summary>The services notary-server's health check asks for (signer.md §4).</summary>
    public static readonly IReadOnlyList<string> HealthServices = ["grpc.health.v1.Health.KeyManagement", "grpc.health.v1.Health.Signer"];

    private readonly GrpcChannel _channel;
    private readonly KeyManagement.KeyManagementClient _keys;
    private readonly Signer.SignerClient _signer;
    private readonly Health.HealthClient _health;
    private readonly TimeSpan _callTimeout;
    private readonly ILogger _logger;

    /// <summary>Connects lazily to the signer described by <paramref name="options"/>; loads the TLS files now.</summary>
    public RemoteSigningService(RemoteSignerOptions options, ILogger<RemoteSigningService> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _logger = logger;
        _callTimeout = options.CallTimeout;
        var address = new Uri(options.Url, UriKind.Absolute);
        if (address.Scheme != Uri.UriSchemeHttps && !(options.AllowInsecure && address.Scheme == Uri.UriSchemeHttp))
        {
            throw new InvalidOperationException($"Signing:Remote:Url must be https:// (got {address.Scheme}://); http:// needs Signing:Remote:AllowInsecure=true");
        }

        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = CreateHandler(options),
            DisposeHttpClient = true,

            // Reconnect quickly once a restarted signer is back; calls wait for it within their deadline.
            InitialReconnectBackoff = TimeSpan.FromMilliseconds(100),
            MaxReconnectBackoff = TimeSpan.FromSeconds(1),
            ServiceConfig = new ServiceConfig
            {
                MethodConfigs =
                {
                    new MethodConfig
                    {
                        Names = { MethodName.Default },
                        RetryPolicy = new RetryPolicy
                        {
                            MaxAttempts = Math.Max(1, options.MaxAttempts),
                            InitialBackoff = TimeSpan.FromMilliseconds(200),
                            MaxBackoff = TimeSpan.FromSeconds(2),
                            BackoffMultiplier = 2,
                            RetryableStatusCodes = { StatusCode.Unavailable },
                        },
                    },
                },
            },
        });
        _keys = new KeyManagement.KeyManagementClient(_channel);
        _signer = new Signer.SignerClient(_channel);
        _health = new Health.HealthClient(_channel);
    }

    /// <inheritdoc />
    public async Task<TufPublicKey> CreateKeyAsync(string gun, string role, string algorithm, CancellationToken cancellationToken = default)
    {
        var created = await CallAsync(
            () => _keys.CreateKeyAsync(new CreateKeyRequest { Algorithm = algorithm, Gun = gun, Role = role }, Options(cancellationToken)).ResponseAsync,
            "CreateKey").ConfigureAwait(false);
        return ToPublicKey(created.KeyInfo, created.PublicKey_);
    }

    /// <inheritdoc />
    public async Task<ServerKeyInfo?> GetKeyInfoAsync(string keyId, CancellationToken cancellationToken = default)
    {
        try
        {
            var info = await CallAsync(
                () => _keys.GetKeyInfoAsync(new ProtoKeyId { ID = keyId }, Options(cancellationToken)).ResponseAsync,
                "GetKeyInfo").ConfigureAwait(false);
            return new ServerKeyInfo(ToPublicKey(info.KeyInfo, info.PublicKey), info.Role);
        }
        catch (SignerUnavailableException e) when (e.InnerException is RpcException { StatusCode: StatusCode.NotFound })
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<TufSignature>> SignAsync(
        string gun, string role, IReadOnlyList<TufPublicKey> keys, ReadOnlyMemory<byte> canonicalBody, CancellationToken cancellationToken)
    {
        var signatures = new List<TufSignature>();
        foreach (var key in keys.DistinctBy(k => k.Id))
        {
            // By canonical key ID (the same as the ID for the plain keys a signer holds). notary-server asks
            // GetKeyInfo first; Sign alone answers NOT_FOUND for a key the signer does not hold, one round trip less.
            var canonicalId = key.CanonicalId;
            try
            {
                var signature = await CallAsync(
                    () => _signer.SignAsync(new SignatureRequest { KeyID = new ProtoKeyId { ID = canonicalId }, Content = Google.Protobuf.ByteString.CopyFrom(canonicalBody.Span) }, Options(cancellationToken)).ResponseAsync,
                    "Sign").ConfigureAwait(false);

                // The metadata method follows from the key type, as notary-server derives it (signer.md §7).
                signatures.Add(new TufSignature(key.Id, SignatureMethod.ForKeyType(key.KeyType), signature.Content.ToByteArray()));
            }
            catch (SignerUnavailableException e) when (e.InnerException is RpcException { StatusCode: StatusCode.NotFound })
            {
                LogKeyNotHeld(_logger, gun, role, key.Id);
            }
        }

        return signatures;
    }

    /// <summary>notary-server's "Trust operational" check: both signer services SERVING; null when healthy, else why not.</summary>
    public async Task<string?> CheckHealthAsync(CancellationToken cancellationToken = default)
    {
        foreach (var service in HealthServices)
        {
            try
            {
                var response = await _health.CheckAsync(new HealthCheckRequest { Service = service }, Options(cancellationToken, waitForReady: false)).ResponseAsync.ConfigureAwait(false);
                if (response.Status != HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    return $"{service}: {response.Status}";
                }
            }
            catch (RpcException e)
            {
                return $"{service}: {e.StatusCode}: {e.Status.Detail}";
            }
        }

        return null;
    }

    /// <inheritdoc />
    public void Dispose() => _channel.Dispose();

    // Key and signing calls wait for the connection within their deadline (a signer that is restarting is
    // transparent); health checks fail fast instead, so that probes report an outage at once.
    private CallOptions Options(CancellationToken cancellationToken, bool waitForReady = true) =>
        new CallOptions(deadline: DateTime.UtcNow.Add(_callTimeout), cancellationToken: cancellationToken).WithWaitForReady(waitForReady);

    private async Task<T> CallAsync<T>(Func<Task<T>> call, string operation)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled)
        {
            if (e.StatusCode != StatusCode.NotFound)
            {
                LogCallFailed(_logger, operation, e.StatusCode, e.Status.Detail);
            }

            throw new SignerUnavailableException($"signer {operation} failed: {e.StatusCode}", e);
        }
    }

    private static TufPublicKey ToPublicKey(KeyInfo info, Google.Protobuf.ByteString publicKey)
    {
        var algorithm = info.Algorithm.Algorithm_;
        var key = new TufPublicKey(algorithm, publicKey.ToByteArray());
        if (key.Id != info.KeyID.ID)
        {
            throw new TufFormatException($"the signer returned key {info.KeyID.ID} whose public key has ID {key.Id}");
        }

        return key;
    }

    private static SocketsHttpHandler CreateHandler(RemoteSignerOptions options)
    {
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, ConnectTimeout = options.CallTimeout };
        if (options.ClientCertFile is not null || options.ClientKeyFile is not null)
        {
            if (options.ClientCertFile is null || options.ClientKeyFile is null)
            {
                throw new InvalidOperationException("Signing:Remote:ClientCertFile and ClientKeyFile must be set together");
            }

            var certificate = X509Certificate2.CreateFromPemFile(options.ClientCertFile, options.ClientKeyFile);
            handler.SslOptions.ClientCertificates = [X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null)];
        }

        handler.SslOptions.EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
        if (options.CaFile is not null)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(options.CaFile);
            if (roots.Count == 0)
            {
                throw new InvalidOperationException($"Signing:Remote:CaFile {options.CaFile} holds no certificate");
            }

            handler.SslOptions.CertificateChainPolicy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                RevocationMode = X509RevocationMode.NoCheck,
            };
            handler.SslOptions.CertificateChainPolicy.CustomTrustStore.AddRange(roots);
        }

        return handler;
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "Signer does not hold key {KeyId} for {Role} of {Gun}")]
    private static partial void LogKeyNotHeld(ILogger logger, string gun, string role, string keyId);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Signer call {Operation} failed: {StatusCode} {Detail}")]
    private static partial void LogCallFailed(ILogger logger, string operation, StatusCode statusCode, string detail);
}
