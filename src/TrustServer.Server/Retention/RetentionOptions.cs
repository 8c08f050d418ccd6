using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using TrustServer.Data;
using TrustServer.Server.Options;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Server.Retention;

/// <summary>
/// Retention of old metadata versions (<c>Retention</c> section), off by default. <see cref="Default"/> applies to every
/// role without an entry in <see cref="Roles"/> (keyed by exact role name: <c>targets</c>, <c>snapshot</c>,
/// <c>timestamp</c>, <c>targets/releases</c>…). A version is removed only when it is beyond <c>KeepVersions</c> newest
/// AND stored more than <c>KeepDays</c> ago; a limit not set holds nothing back, a rule with neither removes nothing.
/// Root versions, the newest version of every role and every file the current chain names are never removed.
/// </summary>
public sealed class RetentionOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Retention";

    /// <summary>The rule of every role not listed in <see cref="Roles"/>.</summary>
    public RoleRetentionOptions Default { get; set; } = new();

    /// <summary>Rules of single roles (override <see cref="Default"/> entirely).</summary>
    public Dictionary<string, RoleRetentionOptions> Roles { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How often the background pass runs (from 1 minute to 7 days).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>At most this many versions are removed per repository transaction; the rest go in further transactions.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 500;

    /// <summary>The policy the data layer applies.</summary>
    public RetentionPolicy ToPolicy() => new(
        Default.ToRule(),
        Roles.ToDictionary(r => r.Key, r => r.Value.ToRule(), StringComparer.Ordinal));

    internal static OptionsBuilder<RetentionOptions> ValidateNested(OptionsBuilder<RetentionOptions> options) => options
        .Validate(o => o.Interval >= TimeSpan.FromMinutes(1) && o.Interval <= TimeSpan.FromDays(7), "Retention:Interval must be between 00:01:00 and 7.00:00:00")
        .Validate(o => o.Default.IsValid(), "Retention:Default:KeepVersions must be at least 1 and Retention:Default:KeepDays at least 0 (at most 36500)")
        .Validate(o => o.Roles.All(r => r.Value.IsValid()), "Retention:Roles:<role>:KeepVersions must be at least 1 and KeepDays at least 0 (at most 36500)")
        .Validate(o => !o.Roles.ContainsKey(RoleName.Root), "Retention:Roles:root is not allowed: root versions are never removed (clients walk the root chain)")
        .Validate(o => o.Roles.Keys.All(RoleName.IsValid), "Retention:Roles keys must be role names (targets, snapshot, timestamp or targets/<delegation>)");
}

/// <summary>The retention rule of one role; both limits unset (the default) keeps every version.</summary>
public sealed class RoleRetentionOptions
{
    /// <summary>Configuration section of the default rule (bound as <see cref="RetentionOptions.Default"/>; a role's own rule is <c>Retention:Roles:&lt;role&gt;</c>).</summary>
    public const string Section = "Retention:Default";

    /// <summary>The newest this many versions are always kept (at least 1).</summary>
    public int? KeepVersions { get; set; }

    /// <summary>Versions stored less than this many days ago are always kept (0: age holds nothing back).</summary>
    public int? KeepDays { get; set; }

    internal bool IsValid() => KeepVersions is null or >= 1 && KeepDays is null or (>= 0 and <= 36_500);

    internal RoleRetention ToRule() => new(KeepVersions, KeepDays is { } days ? TimeSpan.FromDays(days) : null);
}

/// <summary>Registration of retention.</summary>
internal static class RetentionHostingExtensions
{
    /// <summary>Options and the background service.</summary>
    public static IServiceCollection AddRetention(this IServiceCollection services)
    {
        services.AddValidatedOptions<RetentionOptions>(RetentionOptions.Section, RetentionOptions.ValidateNested);
        services.AddHostedService<RetentionService>();
        return services;
    }
}
