using System.Data.Common;
using TrustServer.Compat.Tests.Support;
using TrustServer.Server.Tests.Audit;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests;

/// <summary>The token-auth audit server on a throwaway PostgreSQL database.</summary>
public sealed class PostgresAuditServerFixture : AuditServerFixture
{
    private readonly PostgresDatabaseFixture _database = new();

    public override async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _database.DisposeAsync();
    }

    public override async Task<DbConnection> OpenConnectionAsync() => await _database.OpenConnectionAsync();

    public override bool Postgres => true;

    protected override Task<ServerStorage> CreateStorageAsync() => Task.FromResult<ServerStorage>(new ServerStorage.Postgres(_database.ConnectionString));
}

/// <summary>The audit log end to end on PostgreSQL (the tests are those of <see cref="AuditLogTests"/>).</summary>
public sealed class PostgresAuditLogTests(PostgresAuditServerFixture fixture) : AuditLogTests(fixture), IClassFixture<PostgresAuditServerFixture>;
