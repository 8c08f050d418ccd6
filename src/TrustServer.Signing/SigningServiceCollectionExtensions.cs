using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using TrustServer.Data;
using TrustServer.Signing.Embedded;
using TrustServer.Signing.Keys;
using TrustServer.Signing.Keys.Pkcs11;
using TrustServer.Signing.Remote;

namespace TrustServer.Signing;

/// <summary>Registration of the key store and the embedded signing service for hosts.</summary>
public static class SigningServiceCollectionExtensions
{
    /// <summary>
    /// Registers the <see cref="KeyStore"/> singleton (what the gRPC signer host serves): the key database, the
    /// default passphrase alias for new keys, and the passphrase source (by default notary-signer's
    /// <see cref="EnvironmentPassphraseSource"/>, <c>NOTARY_SIGNER_&lt;ALIAS&gt;</c>). Uses a registered
    /// <see cref="TimeProvider"/> (the system clock otherwise).
    /// </summary>
    public static IServiceCollection AddKeyStore(
        this IServiceCollection services,
        StorageProvider provider,
        string connectionString,
        string defaultAlias,
        IPassphraseSource? passphrases = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ArgumentException.ThrowIfNullOrWhiteSpace(defaultAlias);
        var database = new StorageDatabase(provider, connectionString);
        return services.AddKeyStore(_ => database, _ => defaultAlias, passphrases);
    }

    /// <summary>
    /// As <see cref="AddKeyStore(IServiceCollection, StorageProvider, string, string, IPassphraseSource?)"/>, with the
    /// database and the default alias chosen when the store is first resolved (by a host from its validated options).
    /// </summary>
    public static IServiceCollection AddKeyStore(
        this IServiceCollection services,
        Func<IServiceProvider, StorageDatabase> database,
        Func<IServiceProvider, string> defaultAlias,
        IPassphraseSource? passphrases = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(defaultAlias);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IPassphraseSource>(passphrases ?? new EnvironmentPassphraseSource());
        services.AddSingleton(sp =>
        {
            var (provider, connectionString) = database(sp);
            return new KeyStore(
                provider,
                connectionString,
                defaultAlias(sp),
                sp.GetRequiredService<IPassphraseSource>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetService<ILogger<KeyStore>>(),
                sp.GetService<Pkcs11Token>());
        });
        return services;
    }

    /// <summary>
    /// Registers the key store (<see cref="AddKeyStore(IServiceCollection, StorageProvider, string, string, IPassphraseSource?)"/>)
    /// and <see cref="ISigningService"/> over it, in-process (<c>Signing:Mode = Embedded</c>). Call
    /// <see cref="MigrateKeyDatabaseAsync"/> at startup (or in the <c>migrate</c> command) before first use.
    /// </summary>
    public static IServiceCollection AddEmbeddedSigning(
        this IServiceCollection services,
        StorageProvider provider,
        string connectionString,
        string defaultAlias,
        IPassphraseSource? passphrases = null) =>
        services.AddKeyStore(provider, connectionString, defaultAlias, passphrases).AddEmbeddedSigningService();

    /// <summary>
    /// As <see cref="AddEmbeddedSigning(IServiceCollection, StorageProvider, string, string, IPassphraseSource?)"/>,
    /// with the database and the default alias chosen when the store is first resolved; the passphrase source is
    /// the registered <see cref="IPassphraseSource"/> (else the environment's).
    /// </summary>
    public static IServiceCollection AddEmbeddedSigning(
        this IServiceCollection services, Func<IServiceProvider, StorageDatabase> database, Func<IServiceProvider, string> defaultAlias) =>
        services.AddKeyStore(database, defaultAlias).AddEmbeddedSigningService();

    /// <summary>
    /// Registers <see cref="ISigningService"/> as a client of a remote signer (ours or notary-signer) over gRPC with
    /// mutual TLS (<c>Signing:Mode = Remote</c>). TLS files are loaded when the service is first resolved; resolve it
    /// at start so that missing or unreadable material fails the start. The same client is the <see cref="ISignerHealth"/>.
    /// </summary>
    public static IServiceCollection AddRemoteSigning(this IServiceCollection services, RemoteSignerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return services.AddRemoteSigning(_ => options);
    }

    /// <summary>As <see cref="AddRemoteSigning(IServiceCollection, RemoteSignerOptions)"/>, with the options asked for when the service is first resolved.</summary>
    public static IServiceCollection AddRemoteSigning(this IServiceCollection services, Func<IServiceProvider, RemoteSignerOptions> options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        services.AddLogging();
        services.AddSingleton(sp => new RemoteSigningService(options(sp), sp.GetRequiredService<ILogger<RemoteSigningService>>()));
        services.AddSingleton<ISigningService>(sp => sp.GetRequiredService<RemoteSigningService>());
        services.AddSingleton<ISignerHealth>(sp => sp.GetRequiredService<RemoteSigningService>());
        return services;
    }

    /// <summary>
    /// Registers the PKCS#11 token of <c>Keys:Pkcs11</c> (<c>Keys:Backend = Pkcs11</c>): the key store then generates
    /// new keys in it. Nothing is loaded until <see cref="OpenKeyToken"/> or the first key operation.
    /// </summary>
    public static IServiceCollection AddPkcs11Token(this IServiceCollection services, Func<IServiceProvider, Pkcs11Options> options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        services.AddSingleton(sp => new Pkcs11Token(options(sp), sp.GetService<ILogger<Pkcs11Token>>()));
        return services;
    }

    /// <summary>
    /// At start: opens the registered PKCS#11 token (module, token, PIN) and returns it; null without one. Throws
    /// <see cref="Pkcs11TokenException"/> with a one-line reason, so that a host fails closed.
    /// </summary>
    public static Pkcs11Token? OpenKeyToken(this IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var token = services.GetService<Pkcs11Token>();
        token?.Open();
        return token;
    }

    private static IServiceCollection AddEmbeddedSigningService(this IServiceCollection services)
    {
        services.AddLogging();
        services.AddSingleton<ISigningService, EmbeddedSigningService>();
        return services;
    }

    /// <summary>Applies the key database's pending migrations (history table <c>__keys_migrations</c>).</summary>
    public static Task MigrateKeyDatabaseAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.GetRequiredService<KeyStore>().MigrateAsync(cancellationToken);
    }
}
