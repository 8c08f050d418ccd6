using System.Data.Common;
using Microsoft.Data.Sqlite;
using TrustServer.Compat.Tests.Support;

namespace TrustServer.Server.Tests.Audit;

/// <summary>The SQLite variant (the embedded default).</summary>
public sealed class SqliteAuditServerFixture : AuditServerFixture
{
    private string File => Directory.Combine("data", "trustserver.db");

    public override async Task<DbConnection> OpenConnectionAsync()
    {
        var connection = new SqliteConnection($"Data Source={File}");
        await connection.OpenAsync();
        return connection;
    }

    public override bool Postgres => false;

    protected override Task<ServerStorage> CreateStorageAsync() => Task.FromResult<ServerStorage>(new ServerStorage.Sqlite(File));
}

/// <summary>The audit log on SQLite.</summary>
public sealed class SqliteAuditLogTests(SqliteAuditServerFixture fixture) : AuditLogTests(fixture), IClassFixture<SqliteAuditServerFixture>;
