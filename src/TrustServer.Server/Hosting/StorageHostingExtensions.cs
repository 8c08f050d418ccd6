using Microsoft.Extensions.Options;
using TrustServer.Data;
using TrustServer.Server.Options;
using TrustServer.Signing;
using TrustServer.Signing.Keys;
using TrustServer.Signing.Remote;

namespace TrustServer.Server.Hosting;

/// <summary>Wires the metadata store and the server-managed keys from configuration (DESIGN.md §6).</summary>
internal static class StorageHostingExtensions
{
    /// <summary>Default metadata database of the embedded default.</summary>
    public const string DefaultMetadataConnection = "Data Source=data/trustserver.db";

    /// <summary><c>Storage:Provider</c> + <c>ConnectionStrings:Metadata</c>.</summary>
    public static WebApplicationBuilder AddMetadataStorage(this WebApplicationBuilder builder)
    {
        var storage = builder.Configuration.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new StorageOptions();
        builder.Services.AddMetadataStore(ParseProvider(storage.Provider), MetadataConnection(builder.Configuration));
        return builder;
    }

    /// <summary>
    /// Embedded signing: the key store lives in <c>ConnectionStrings:Keys</c> (default: the metadata database, in
    /// its own tables) on the same provider; passphrases as notary-signer reads them, or the embedded default's file.
    /// </summary>
    public static WebApplicationBuilder AddServerSigning(this WebApplicationBuilder builder)
    {
        var mode = builder.Configuration[$"{SigningOptions.Section}:Mode"] ?? "Embedded";
        if (mode == "Remote")
        {
            var remote = builder.Configuration.GetSection(RemoteSignerOptions.Section).Get<RemoteSignerOptions>() ?? new RemoteSignerOptions();
            builder.Services.AddRemoteSigning(remote);
            return builder;
        }

        var storage = builder.Configuration.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new StorageOptions();
        var signing = builder.Configuration.GetSection(SigningOptions.Section).Get<SigningOptions>() ?? new SigningOptions();
        var keys = builder.Configuration.GetConnectionString("Keys") is { Length: > 0 } connection ? connection : MetadataConnection(builder.Configuration);
        var provider = ParseProvider(storage.Provider) == StorageProvider.Postgres ? KeyStorageProvider.Postgres : KeyStorageProvider.Sqlite;
        builder.Services.AddEmbeddedSigning(provider, keys, signing.PassphraseAlias, new EmbeddedPassphraseSource(signing.PassphraseAlias, signing.PassphraseFile));
        return builder;
    }

    /// <summary>The <c>migrate</c> command: metadata database, then (embedded signing) the key store's tables.</summary>
    public static async Task MigrateDatabasesAsync(this IServiceProvider services, CancellationToken cancellationToken)
    {
        await services.MigrateMetadataDatabaseAsync(cancellationToken);
        if (services.GetService<KeyStore>() is not null)
        {
            await services.MigrateKeyDatabaseAsync(cancellationToken);
        }
    }

    /// <summary>
    /// At start: migrate unless <c>Storage:MigrateOnStartup</c> is false, and resolve the signing service so that
    /// unreadable TLS material for a remote signer stops the start (fail closed).
    /// </summary>
    public static async Task PrepareDatabasesAsync(this WebApplication app, CancellationToken cancellationToken)
    {
        _ = app.Services.GetRequiredService<ISigningService>();
        if (app.Services.GetRequiredService<IOptions<StorageOptions>>().Value.MigrateOnStartup)
        {
            await app.Services.MigrateDatabasesAsync(cancellationToken);
        }
    }

    // Validated again (with a clear message) by the options validation at start.
    private static StorageProvider ParseProvider(string provider) =>
        provider == "Postgres" ? StorageProvider.Postgres : StorageProvider.Sqlite;

    private static string MetadataConnection(IConfiguration configuration) =>
        configuration.GetConnectionString("Metadata") is { Length: > 0 } connection ? connection : DefaultMetadataConnection;
}
