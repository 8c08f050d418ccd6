using Microsoft.Extensions.Options;
using TrustServer.Data;
using TrustServer.Server.Options;
using TrustServer.Signing;
using TrustServer.Signing.Keys;
using TrustServer.Signing.Keys.Pkcs11;
using TrustServer.Signing.Remote;
using TrustServer.Tuf.Keys;

namespace TrustServer.Server.Hosting;

/// <summary>Wires the metadata store and the server-managed keys from the validated options (DESIGN.md §6).</summary>
internal static class StorageHostingExtensions
{
    /// <summary>Default metadata database of the embedded default.</summary>
    public const string DefaultMetadataConnection = "Data Source=data/trustserver.db";

    /// <summary><c>Storage:Provider</c> + <c>ConnectionStrings:Metadata</c>.</summary>
    public static WebApplicationBuilder AddMetadataStorage(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<StorageOptions>(StorageOptions.Section, o => o
            .Validate(o => o.Provider is "Sqlite" or "Postgres", "Storage:Provider must be Sqlite or Postgres"));
        builder.Services.AddMetadataStore(sp => new StorageDatabase(ProviderOf(sp), MetadataConnection(sp.GetRequiredService<IConfiguration>())));
        return builder;
    }

    /// <summary>
    /// Embedded signing: the key store lives in <c>ConnectionStrings:Keys</c> (default: the metadata database, in
    /// its own tables) on the same provider; passphrases as notary-signer reads them, or the embedded default's file.
    /// <c>Signing:Mode</c> is read (validated) while registering: whether a <see cref="RemoteSigningService"/> or a
    /// <see cref="KeyStore"/> exists at all is what the health check, the key routes and <c>migrate</c> look for.
    /// </summary>
    public static WebApplicationBuilder AddServerSigning(this WebApplicationBuilder builder)
    {
        var signing = builder.GetValidatedOptions<SigningOptions>(SigningOptions.Section, o => SigningOptions.ValidateNested(o
            .Validate(o => o.Mode is "Embedded" or "Remote", "Signing:Mode must be Embedded or Remote")));
        builder.Services.AddValidatedOptions<RemoteSignerOptions>(RemoteSignerOptions.Section, o => o
            .Validate(o => signing.Mode != "Remote" || Uri.IsWellFormedUriString(o.Url, UriKind.Absolute), "Signing:Remote:Url must be an absolute URL when Signing:Mode is Remote")
            .Validate(o => o.CallTimeout > TimeSpan.Zero && o.MaxAttempts >= 1, "Signing:Remote:CallTimeout must be positive and MaxAttempts at least 1"));
        var keys = builder.GetValidatedOptions<KeyBackendOptions>(KeyBackendOptions.Section, o =>
        {
            o.Services.AddSingleton<IValidateOptions<KeyBackendOptions>, KeyBackendOptionsValidator>();
            return o.Validate(k => signing.Mode != "Remote" || !k.UsesPkcs11, "Keys:Backend Pkcs11 applies to Signing:Mode Embedded; with Remote, configure the PKCS#11 token in TrustServer.Signer");
        });
        if (signing.Mode == "Remote")
        {
            builder.Services.AddRemoteSigning(sp => sp.GetRequiredService<IOptions<RemoteSignerOptions>>().Value);
            return builder;
        }

        if (keys.UsesPkcs11)
        {
            builder.Services.AddPkcs11Token(sp => sp.GetRequiredService<IOptions<KeyBackendOptions>>().Value.Pkcs11);
        }

        builder.Services.AddSingleton<IPassphraseSource>(sp =>
        {
            var options = SigningOf(sp);
            return new EmbeddedPassphraseSource(options.PassphraseAlias, options.PassphraseFile);
        });
        builder.Services.AddEmbeddedSigning(
            sp => new StorageDatabase(ProviderOf(sp), KeysConnection(sp.GetRequiredService<IConfiguration>())),
            sp => SigningOf(sp).PassphraseAlias);
        return builder;
    }

    /// <summary>The <c>migrate</c> command: metadata database, then (embedded signing) the key store's tables.</summary>
    public static async Task MigrateDatabasesAsync(this IServiceProvider services, CancellationToken cancellationToken, StartupTimeline? timeline = null)
    {
        await services.MigrateMetadataDatabaseAsync(cancellationToken);
        timeline?.Mark("metadata database migrated");
        if (services.GetService<KeyStore>() is not null)
        {
            await services.MigrateKeyDatabaseAsync(cancellationToken);
            timeline?.Mark("key database migrated");
        }
    }

    /// <summary>
    /// At start: migrate unless <c>Storage:MigrateOnStartup</c> is false, and resolve the signing service so that
    /// unreadable TLS material for a remote signer, or a PKCS#11 token that cannot be opened (module, token, PIN) or
    /// cannot make keys of <c>Signing:KeyAlgorithm</c>, stops the start (fail closed).
    /// </summary>
    public static async Task PrepareDatabasesAsync(this WebApplication app, CancellationToken cancellationToken, StartupTimeline? timeline = null)
    {
        _ = app.Services.ResolveConfigured<ISigningService>();
        timeline?.Mark("signing service resolved (remote signer TLS material or key store)");
        try
        {
            if (app.Services.OpenKeyToken() is { SupportsEd25519: false } token && SigningOf(app.Services).KeyAlgorithm == KeyType.Ed25519)
            {
                throw new KeyAlgorithmNotSupportedException(KeyType.Ed25519, $"token {token.TokenLabel} offers no CKM_EDDSA (Signing:KeyAlgorithm)");
            }
        }
        catch (Pkcs11TokenException ex)
        {
            throw new ServerConfigurationException(ex.Message, ex);
        }

        // A remote signer's first call opens the mutual-TLS channel (handshake, HTTP/2, the gRPC client's first use):
        // started here, it overlaps the migration check instead of delaying the first readiness probe. Not awaited and
        // its answer not used (a signer that hangs must not delay listening); readiness asks the signer itself.
        if (app.Services.GetService<ISignerHealth>() is { } signer)
        {
            _ = signer.CheckHealthAsync(cancellationToken).ContinueWith(
                static check => _ = check.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }

        if (app.Services.GetRequiredService<IOptions<StorageOptions>>().Value.MigrateOnStartup)
        {
            await app.Services.MigrateDatabasesAsync(cancellationToken, timeline);
        }
    }

    private static StorageProvider ProviderOf(IServiceProvider services) =>
        services.GetRequiredService<IOptions<StorageOptions>>().Value.Provider == "Postgres" ? StorageProvider.Postgres : StorageProvider.Sqlite;

    private static SigningOptions SigningOf(IServiceProvider services) => services.GetRequiredService<IOptions<SigningOptions>>().Value;

    private static string MetadataConnection(IConfiguration configuration) =>
        configuration.GetConnectionString("Metadata") is { Length: > 0 } connection ? connection : DefaultMetadataConnection;

    private static string KeysConnection(IConfiguration configuration) =>
        configuration.GetConnectionString("Keys") is { Length: > 0 } connection ? connection : MetadataConnection(configuration);
}
