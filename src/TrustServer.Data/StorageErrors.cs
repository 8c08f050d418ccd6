using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace TrustServer.Data;

/// <summary>Classifies storage exceptions so that callers need not name EF Core or provider types.</summary>
public static class StorageErrors
{
    /// <summary>
    /// Whether <paramref name="exception"/> is a failure of the database itself, not of the request: a provider
    /// (Npgsql, SQLite) error, a timeout, or an EF Core update that the database refused, also when wrapped (EF Core
    /// wraps driver errors in its own exceptions).
    /// </summary>
    public static bool IsDatabaseFailure(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is DbException or DbUpdateException or TimeoutException)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether <paramref name="exception"/> (or an exception it wraps) is a PostgreSQL failure that a new attempt on a
    /// new connection can cure: a broken or refused connection (SQLSTATE class 08, I/O errors, timeouts:
    /// <see cref="NpgsqlException.IsTransient"/>) or a server that is shutting down, restarting or starting
    /// (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now). Never for SQLite.
    /// </summary>
    public static bool IsTransient(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            switch (current)
            {
                case PostgresException postgres:
                    return postgres.SqlState.StartsWith("08", StringComparison.Ordinal)
                        || postgres.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow;
                case NpgsqlException npgsql:
                    return npgsql.IsTransient;
            }
        }

        return false;
    }
}
