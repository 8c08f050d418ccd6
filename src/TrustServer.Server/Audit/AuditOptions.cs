using System.ComponentModel.DataAnnotations;
using TrustServer.Server.Options;

namespace TrustServer.Server.Audit;

/// <summary>The audit log (<c>Audit</c> section).</summary>
public sealed class AuditOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Audit";

    /// <summary>
    /// Entries older than this many days are deleted in the background (hourly, in batches). 0 (the default) keeps
    /// every entry.
    /// </summary>
    [Range(0, 36500)]
    public int KeepDays { get; set; }
}

/// <summary>Registration of the audit log's server side.</summary>
internal static class AuditHostingExtensions
{
    /// <summary>Options, <see cref="AuditTrail"/> and the retention service.</summary>
    public static IServiceCollection AddAuditLog(this IServiceCollection services)
    {
        services.AddValidatedOptions<AuditOptions>(AuditOptions.Section);
        services.AddSingleton<AuditTrail>();
        services.AddHostedService<AuditRetentionService>();
        return services;
    }
}
