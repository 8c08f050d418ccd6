using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Storage;

namespace TrustServer.Data;

/// <summary>Start-up migration of a database that is usually already current (a restart, a new replica).</summary>
public static class MigrationExtensions
{
    /// <summary>
    /// Applies the pending migrations, if any. Asks the history table first (one query): when every migration of the
    /// assembly is applied, <see cref="RelationalDatabaseFacadeExtensions.MigrateAsync(DatabaseFacade, CancellationToken)"/>
    /// is skipped — it would take the migration lock and build the design-time model to check for model changes
    /// that no migration covers, which was most of a restart's time (issue 19, target 6). An unreachable database
    /// fails here as it did in <c>MigrateAsync</c>; a database with pending migrations is migrated under the lock.
    /// </summary>
    /// <param name="database">The context's database.</param>
    /// <param name="cancellationToken">Cancels the check and the migration.</param>
    /// <returns>A task that completes when the schema is current.</returns>
    public static async Task MigrateIfPendingAsync(this DatabaseFacade database, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(database);

        var applied = await ReadAppliedMigrationsAsync(database, cancellationToken).ConfigureAwait(false);
        if (applied is null)
        {
            // No readable history table: a new database, or one that cannot be reached (MigrateAsync then fails
            // and says why, as before). EF Core asks for the history table through a command whose failure it logs
            // at Error level before handling it — Npgsql's existence check is that very query (npgsql/efcore.pg#3407)
            // — one false alarm on every new deployment; so the table is created first when the database exists.
            // The providers' CreateIfNotExists tolerates replicas creating it at once.
            if (await database.GetService<IRelationalDatabaseCreator>().ExistsAsync(cancellationToken).ConfigureAwait(false))
            {
                await database.GetService<IHistoryRepository>().CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        if (applied is null || database.GetService<IMigrationsAssembly>().Migrations.Keys.Any(id => !applied.Contains(id)))
        {
            await database.MigrateAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The migrations the history table lists, read with one plain query, or null when it cannot be read. Not
    /// <c>GetAppliedMigrationsAsync</c>: EF Core's history repository builds a model of the history table with the
    /// full convention set for its column names, the model building that the compiled models save everywhere else
    /// (issue 19, target 6), and logs a missing table as an error. <c>MigrationId</c> is the history table's key
    /// column in every EF Core version.
    /// </summary>
    private static async Task<HashSet<string>?> ReadAppliedMigrationsAsync(DatabaseFacade database, CancellationToken cancellationToken)
    {
        var relational = RelationalOptionsExtension.Extract(database.GetService<IDbContextOptions>());
        var sql = database.GetService<ISqlGenerationHelper>();
        var table = sql.DelimitIdentifier(relational.MigrationsHistoryTableName ?? HistoryRepository.DefaultTableName, relational.MigrationsHistoryTableSchema);
        var applied = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var command = database.GetDbConnection().CreateCommand();
            command.Transaction = database.CurrentTransaction?.GetDbTransaction();
            command.CommandText = $"SELECT {sql.DelimitIdentifier("MigrationId")} FROM {table}";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                applied.Add(reader.GetString(0));
            }
        }
        catch (DbException)
        {
            return null;
        }
        finally
        {
            await database.CloseConnectionAsync().ConfigureAwait(false);
        }

        return applied;
    }
}
