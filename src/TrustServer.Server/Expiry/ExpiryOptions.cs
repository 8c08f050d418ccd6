using System.ComponentModel.DataAnnotations;
using TrustServer.Server.Options;

namespace TrustServer.Server.Expiry;

/// <summary>The background expiry scan behind <c>trustserver_repositories_expiring</c> (<c>ExpiryAlerts</c> section).</summary>
public sealed class ExpiryAlertOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "ExpiryAlerts";

    /// <summary>Whether this replica scans (every replica does by default: the scan only reads).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Time between the end of one scan and the start of the next (1 minute to 1 day).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Repositories per catalog query.</summary>
    [Range(1, 10000)]
    public int PageSize { get; set; } = 500;
}

/// <summary>Registration of the expiry scan.</summary>
internal static class ExpiryHostingExtensions
{
    /// <summary>Options and the background scan.</summary>
    public static IServiceCollection AddExpiryAlerts(this IServiceCollection services)
    {
        services.AddValidatedOptions<ExpiryAlertOptions>(ExpiryAlertOptions.Section);
        services.AddSingleton<ExpiryScanStatus>();
        services.AddHostedService<ExpiryScanner>();
        return services;
    }
}
