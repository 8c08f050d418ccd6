using System.Data.Common;
using Microsoft.EntityFrameworkCore;

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
}
