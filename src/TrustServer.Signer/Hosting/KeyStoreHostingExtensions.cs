using Microsoft.Extensions.Options;
using TrustServer.Data;
using TrustServer.Signer.Options;
using TrustServer.Signing;
using TrustServer.Signing.Keys;
using TrustServer.Signing.Keys.Pkcs11;

namespace TrustServer.Signer.Hosting;

/// <summary>
/// Wires the key store from configuration (DESIGN.md §6: <c>Storage:*</c>, <c>ConnectionStrings:Keys</c>,
/// <c>Keys:DefaultAlias</c>; <c>Keys:Backend</c> and <c>Keys:Pkcs11:*</c> as in the server's embedded mode).
/// </summary>
internal static class KeyStoreHostingExtensions
{
    /// <summary>Key database of the default configuration (relative to the working directory).</summary>
    public const string DefaultConnection = "Data Source=data/signer.db";

    public static WebApplicationBuilder AddSignerKeyStore(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<SignerStorageOptions>().BindConfiguration(SignerStorageOptions.Section)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<SignerKeysOptions>().BindConfiguration(SignerKeysOptions.Section)
            .PostConfigure(o => o.DefaultAlias = DefaultAlias(o.DefaultAlias))
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<KeyBackendOptions>().BindConfiguration(KeyBackendOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<KeyBackendOptions>, KeyBackendOptionsValidator>();
        if (builder.Configuration[$"{KeyBackendOptions.Section}:{nameof(KeyBackendOptions.Backend)}"] == KeyBackend.Pkcs11)
        {
            builder.Services.AddPkcs11Token(sp => sp.GetRequiredService<IOptions<KeyBackendOptions>>().Value.Pkcs11);
        }

        var storage = builder.Configuration.GetSection(SignerStorageOptions.Section).Get<SignerStorageOptions>() ?? new SignerStorageOptions();
        var alias = DefaultAlias(builder.Configuration[$"{SignerKeysOptions.Section}:{nameof(SignerKeysOptions.DefaultAlias)}"]);
        var connection = builder.Configuration.GetConnectionString("Keys") is { Length: > 0 } keys ? keys : DefaultConnection;
        var provider = storage.Provider == "Postgres" ? StorageProvider.Postgres : StorageProvider.Sqlite;

        // Without an alias the KeyStore cannot be registered; the options validation above then stops the start (and
        // the commands) with a message naming the setting, before anything asks for the store.
        if (!string.IsNullOrWhiteSpace(alias))
        {
            builder.Services.AddKeyStore(provider, connection, alias);
        }

        return builder;
    }

    /// <summary>Resolves the validated storage and key options: throws <see cref="OptionsValidationException"/> with the problem.</summary>
    public static void ValidateKeyStoreOptions(this IServiceProvider services)
    {
        _ = services.GetRequiredService<IOptions<SignerStorageOptions>>().Value;
        _ = services.GetRequiredService<IOptions<SignerKeysOptions>>().Value;
        _ = services.GetRequiredService<IOptions<KeyBackendOptions>>().Value;
    }

    /// <summary>
    /// At start: validates the options, opens the PKCS#11 token when <c>Keys:Backend</c> is <c>Pkcs11</c> (a wrong module,
    /// token or PIN throws <see cref="Pkcs11TokenException"/>), then migrates unless <c>Storage:MigrateOnStartup</c> is false.
    /// </summary>
    public static async Task PrepareKeyDatabaseAsync(this WebApplication app, CancellationToken cancellationToken)
    {
        app.Services.ValidateKeyStoreOptions();
        app.Services.OpenKeyToken();
        if (app.Services.GetRequiredService<IOptions<SignerStorageOptions>>().Value.MigrateOnStartup)
        {
            await app.Services.MigrateKeyDatabaseAsync(cancellationToken);
        }
    }

    // notary-signer: storage.default_alias, else the environment variable NOTARY_SIGNER_DEFAULT_ALIAS (config-and-ops.md §4).
    private static string? DefaultAlias(string? configured) =>
        string.IsNullOrWhiteSpace(configured) ? Environment.GetEnvironmentVariable(SignerKeysOptions.DefaultAliasVariable) : configured;
}
