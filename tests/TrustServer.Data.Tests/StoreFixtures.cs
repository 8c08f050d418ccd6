using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TrustServer.Testing;

namespace TrustServer.Data.Tests;

/// <summary>A migrated metadata database of one provider, shared by the tests of one class.</summary>
public interface IStoreDatabase
{
    /// <summary>The provider.</summary>
    StorageProvider Provider { get; }

    /// <summary>The connection string of the migrated database.</summary>
    string ConnectionString { get; }
}

/// <summary>Builds containers (one per simulated replica) on a database.</summary>
internal static class StoreServices
{
    /// <summary>
    /// A new container with its own context pool (and, on PostgreSQL, its own Npgsql connection pool via a distinct
    /// Application Name): a separate server replica as far as the database can tell.
    /// </summary>
    public static ServiceProvider Create(
        StorageProvider provider, string connectionString, string replica = "primary", TimeProvider? timeProvider = null, Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection();
        configure?.Invoke(services);
        if (timeProvider is not null)
        {
            services.AddSingleton(timeProvider);
        }

        if (provider == StorageProvider.Postgres)
        {
            connectionString = new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "trustserver-test-" + replica }.ConnectionString;
        }

        services.AddMetadataStore(provider, connectionString);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }
}

/// <summary>A fresh PostgreSQL database (per test class) with the metadata schema applied.</summary>
public sealed class PostgresStoreDatabase : PostgresDatabaseFixture, IStoreDatabase
{
    public StorageProvider Provider => StorageProvider.Postgres;

    protected override string DatabaseNamePrefix => "trustserver_data";

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await using var services = StoreServices.Create(Provider, ConnectionString, "migrator");
        await services.MigrateMetadataDatabaseAsync();
    }
}

/// <summary>A fresh SQLite database file (per test class) in a temporary directory, with the schema applied.</summary>
public sealed class SqliteStoreDatabase : IStoreDatabase, IAsyncLifetime
{
    private readonly TemporaryDirectory _directory = new("trustserver-data");

    public StorageProvider Provider => StorageProvider.Sqlite;

    public string ConnectionString => $"Data Source={_directory.Combine("db", "metadata.db")}";

    public async Task InitializeAsync()
    {
        await using var services = StoreServices.Create(Provider, ConnectionString, "migrator");
        await services.MigrateMetadataDatabaseAsync();
    }

    public Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>A clock the test sets.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}

/// <summary>
/// The store's writes with the audit entry of a test writer (principal <c>system:test</c>), for the tests whose
/// subject is not the audit log.
/// </summary>
internal static class TestWrites
{
    /// <summary>The audit context of these writes.</summary>
    public static readonly AuditContext Audit = new(AuditActions.Publish, AuditActor.System("test"));

    /// <summary><see cref="IMetadataStore.CommitAsync(string, long?, IReadOnlyList{TrustServer.Tuf.Validation.MetadataFile}, AuditContext, CancellationToken)"/> audited as <see cref="Audit"/>.</summary>
    public static Task<CommitOutcome> CommitAsync(this IMetadataStore store, string gun, long? expectedTimestampVersion, IReadOnlyList<TrustServer.Tuf.Validation.MetadataFile> files) =>
        store.CommitAsync(gun, expectedTimestampVersion, files, Audit);

    /// <summary><see cref="IMetadataStore.CommitAsync(string, ExpectedTimestamp, IReadOnlyList{TrustServer.Tuf.Validation.MetadataFile}, AuditContext, CancellationToken)"/> audited as <see cref="Audit"/>.</summary>
    public static Task<CommitOutcome> CommitAsync(this IMetadataStore store, string gun, ExpectedTimestamp expected, IReadOnlyList<TrustServer.Tuf.Validation.MetadataFile> files) =>
        store.CommitAsync(gun, expected, files, Audit);

    /// <summary><see cref="IMetadataStore.DeleteAsync"/> audited as a deletion by <c>system:test</c>.</summary>
    public static Task<bool> DeleteAsync(this IMetadataStore store, string gun) =>
        store.DeleteAsync(gun, Audit with { Action = AuditActions.Delete });
}
