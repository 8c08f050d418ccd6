using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TrustServer.Data.Import;
using TrustServer.Data.Providers;
using TrustServer.Data.Webhooks;

namespace TrustServer.Data;

/// <summary>Registers the metadata store and migrates its database (for the server host, DESIGN.md §6).</summary>
public static class DataServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IMetadataStore"/> (and <see cref="IAuditLog"/>, <see cref="IMetadataCatalog"/>) as thread-safe singletons on a pooled EF Core context factory for
    /// <paramref name="provider"/>. Uses <see cref="TimeProvider"/> and <see cref="ILoggerFactory"/> from the
    /// container when registered (else the system clock and no logging). Does not touch the database; call
    /// <see cref="MigrateMetadataDatabaseAsync"/> at start-up (or from the <c>migrate</c> command).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="provider">The database provider (<c>Storage:Provider</c>).</param>
    /// <param name="connectionString">
    /// The connection string (<c>ConnectionStrings:Metadata</c>), e.g. <c>Data Source=data/trustserver.db</c> for
    /// SQLite or <c>Host=db;Database=notaryserver;Username=server;Password=…</c> for PostgreSQL.
    /// </param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddMetadataStore(this IServiceCollection services, StorageProvider provider, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var database = new StorageDatabase(provider, connectionString);
        return services.AddMetadataStore(_ => database);
    }

    /// <summary>
    /// As <see cref="AddMetadataStore(IServiceCollection, StorageProvider, string)"/>, with the database chosen when
    /// the store is first resolved (by a host from its validated options).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="database">The provider and connection string, asked for once.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddMetadataStore(this IServiceCollection services, Func<IServiceProvider, StorageDatabase> database)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(database);

        services.AddSingleton(sp => new MetadataStoreSettings(database(sp)));
        services.AddPooledDbContextFactory<PostgresMetadataDbContext>((sp, options) => PostgresMetadataDbContext.Configure(options, DatabaseOf(sp).ConnectionString));
        services.AddPooledDbContextFactory<SqliteMetadataDbContext>((sp, options) => SqliteMetadataDbContext.Configure(options, DatabaseOf(sp).ConnectionString));
        services.AddSingleton<IMetadataDbContextFactory>(sp => DatabaseOf(sp).Provider switch
        {
            StorageProvider.Postgres => new MetadataDbContextFactory<PostgresMetadataDbContext>(sp.GetRequiredService<IDbContextFactory<PostgresMetadataDbContext>>()),
            StorageProvider.Sqlite => new MetadataDbContextFactory<SqliteMetadataDbContext>(sp.GetRequiredService<IDbContextFactory<SqliteMetadataDbContext>>()),
            var provider => throw new ArgumentOutOfRangeException(nameof(database), provider, "Unknown storage provider."),
        });
        services.AddSingleton<IChangeSignal>(sp => DatabaseOf(sp) is { Provider: StorageProvider.Postgres } postgres
            ? new PostgresChangeSignal(postgres.ConnectionString)
            : new PollingChangeSignal());
        services.AddSingleton<IWorkerLeases>(sp => DatabaseOf(sp) is { Provider: StorageProvider.Postgres } postgres
            ? new PostgresWorkerLeases(postgres.ConnectionString)
            : new ProcessWorkerLeases());
        services.AddSingleton<IMetadataCatalog>(sp => new EfMetadataCatalog(sp.GetRequiredService<IMetadataDbContextFactory>()));
        services.AddSingleton<IAuditLog>(sp => new EfAuditLog(
            sp.GetRequiredService<IMetadataDbContextFactory>(),
            sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetService<ILoggerFactory>()?.CreateLogger<EfAuditLog>() ?? NullLogger<EfAuditLog>.Instance,
            sp.GetService<IWebhookComposer>()));
        services.AddSingleton(sp => new EfMetadataStore(
            sp.GetRequiredService<IMetadataDbContextFactory>(),
            DatabaseOf(sp).Provider,
            sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetService<ILoggerFactory>()?.CreateLogger<EfMetadataStore>() ?? NullLogger<EfMetadataStore>.Instance,
            sp.GetService<IWebhookComposer>()));
        services.AddSingleton<IWebhookOutbox>(sp => new EfWebhookOutbox(
            sp.GetRequiredService<IMetadataDbContextFactory>(),
            DatabaseOf(sp).Provider,
            sp.GetService<IWebhookComposer>(),
            sp.GetService<ILoggerFactory>()?.CreateLogger<EfWebhookOutbox>() ?? NullLogger<EfWebhookOutbox>.Instance));
        services.AddSingleton<IMetadataStore>(sp => sp.GetRequiredService<EfMetadataStore>());
        services.AddSingleton<IMetadataImportWriter>(sp => sp.GetRequiredService<EfMetadataStore>());
        services.AddSingleton<IMetadataRetention>(sp => sp.GetRequiredService<EfMetadataStore>());
        return services;
    }

    /// <summary>
    /// Applies the pending migrations of the metadata database registered by <see cref="AddMetadataStore(IServiceCollection, Func{IServiceProvider, StorageDatabase})"/>
    /// (idempotent; safe when several replicas start at once, EF Core serializes migrators with a database lock).
    /// For SQLite, first creates the database file owner-only (<see cref="SqliteDatabaseFile.EnsureCreated"/>) and
    /// afterwards switches it to WAL journaling so that readers do not block the writer.
    /// </summary>
    /// <param name="services">The built service provider.</param>
    /// <param name="cancellationToken">Cancels the migration.</param>
    /// <returns>A task that completes when the schema is current.</returns>
    public static async Task MigrateMetadataDatabaseAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(services);
        var settings = DatabaseOf(services);
        if (settings.Provider == StorageProvider.Sqlite)
        {
            SqliteDatabaseFile.EnsureCreated(
                settings.ConnectionString,
                services.GetService<ILoggerFactory>()?.CreateLogger(typeof(SqliteDatabaseFile)) ?? NullLogger.Instance);
        }

        await using var db = await services.GetRequiredService<IMetadataDbContextFactory>().CreateAsync(cancellationToken).ConfigureAwait(false);
        await db.Database.MigrateIfPendingAsync(cancellationToken).ConfigureAwait(false);

        if (settings.Provider == StorageProvider.Sqlite && !IsInMemory(new SqliteConnectionStringBuilder(settings.ConnectionString)))
        {
            // Persistent per database file; a no-op when already set.
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken).ConfigureAwait(false);
        }
    }

    private static StorageDatabase DatabaseOf(IServiceProvider services) => services.GetRequiredService<MetadataStoreSettings>().Database;

    private static bool IsInMemory(SqliteConnectionStringBuilder builder) =>
        builder.Mode == SqliteOpenMode.Memory
        || string.IsNullOrEmpty(builder.DataSource)
        || string.Equals(builder.DataSource, ":memory:", StringComparison.OrdinalIgnoreCase);
}

/// <summary>The metadata database registered by <see cref="DataServiceCollectionExtensions.AddMetadataStore(IServiceCollection, Func{IServiceProvider, StorageDatabase})"/>.</summary>
internal sealed record MetadataStoreSettings(StorageDatabase Database);
