using System.Data.Common;
using Microsoft.EntityFrameworkCore;

namespace TrustServer.Data;

/// <summary>Classifies storage exceptions so that callers need not name EF Core or provider types.</summary>
public static class StorageErrors
{
    /// <summary>
    /// Whether <paramref name="exception"/> is a failure of the database itself: a provider (Npgsql, SQLite) error or
    /// an EF Core update that the database refused.
    /// </summary>
    public static bool IsDatabaseFailure(Exception exception) => exception is DbException or DbUpdateException;
}
