using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using TrustServer.Data.Webhooks;

namespace TrustServer.Server.Webhooks;

/// <summary>
/// Publish webhooks (<c>Webhooks</c> section): the endpoints, and the delivery bounds. Without endpoints nothing is
/// written to the outbox and no delivery worker runs.
/// </summary>
public sealed class WebhookOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Webhooks";

    /// <summary>The shortest secret accepted, in UTF-8 bytes.</summary>
    public const int MinSecretBytes = 32;

    /// <summary>The endpoints (<c>Webhooks:Endpoints:&lt;i&gt;:{Url, Secret, Events, GunPattern}</c>).</summary>
    public List<WebhookEndpointOptions> Endpoints { get; set; } = [];

    /// <summary>HTTP timeout of one delivery attempt (1 s to 60 s).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the delivery worker looks for due events written by other replicas, and retries to take the lease (100 ms to 5 min).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Wait after the first failed attempt; doubled after each further one (100 ms to 1 h).</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest wait between attempts (at least <see cref="InitialBackoff"/>, at most 1 day).</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>After this many failed attempts the event is given up (marked failed; 1 to 1000).</summary>
    public int MaxAttempts { get; set; } = 25;

    /// <summary>An event not delivered this long after it was written is given up (1 min to 30 days).</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Delivered and failed events (with their attempts) are deleted this many days after completion (0 to 3650).</summary>
    public int KeepDays { get; set; } = 7;

    /// <summary>Events delivered at once (to different endpoints or GUNs; one GUN's events are always one at a time per endpoint; 1 to 64).</summary>
    public int MaxConcurrency { get; set; } = 4;

    /// <summary>The CloudEvents <c>source</c> of every event (an absolute URI).</summary>
    public string Source { get; set; } = "urn:trustserver";

    /// <summary>Whether any endpoint subscribes to anything.</summary>
    public bool Enabled => Endpoints.Count > 0;
}

/// <summary>One webhook endpoint.</summary>
public sealed class WebhookEndpointOptions
{
    /// <summary>Absolute http or https URL that receives the events (POST); no user info.</summary>
    public string? Url { get; set; }

    /// <summary>The HMAC-SHA256 key (at least <see cref="WebhookOptions.MinSecretBytes"/> UTF-8 bytes); never logged or stored.</summary>
    public string? Secret { get; set; }

    /// <summary>The event types it receives: <c>published</c>, <c>deleted</c>, <c>key-rotated</c>, <c>expiring</c> (each entry may list several, comma-separated).</summary>
    public List<string> Events { get; set; } = [];

    /// <summary>
    /// Which repositories: a GUN where <c>*</c> matches any characters except <c>/</c> and <c>**</c> any characters
    /// (e.g. <c>example.com/team/*</c>, <c>example.com/**</c>); empty or absent = every repository.
    /// </summary>
    public string? GunPattern { get; set; }

    /// <summary>The event types as configured, split at commas.</summary>
    public IEnumerable<string> EventTypes => Events.SelectMany(e => e.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>Never shows the secret.</summary>
    public override string ToString() => WebhookEndpoint.Display(Url);
}

/// <summary>The start-time checks of <see cref="WebhookOptions"/>: each message names the setting, never a secret.</summary>
internal sealed class WebhookOptionsValidator : IValidateOptions<WebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, WebhookOptions options)
    {
        var failures = new List<string>();
        Check(failures, options.Timeout >= TimeSpan.FromSeconds(1) && options.Timeout <= TimeSpan.FromSeconds(60), "Webhooks:Timeout must be between 00:00:01 and 00:01:00");
        Check(failures, options.PollInterval >= TimeSpan.FromMilliseconds(100) && options.PollInterval <= TimeSpan.FromMinutes(5), "Webhooks:PollInterval must be between 00:00:00.1 and 00:05:00");
        Check(failures, options.InitialBackoff >= TimeSpan.FromMilliseconds(100) && options.InitialBackoff <= TimeSpan.FromHours(1), "Webhooks:InitialBackoff must be between 00:00:00.1 and 01:00:00");
        Check(failures, options.MaxBackoff >= options.InitialBackoff && options.MaxBackoff <= TimeSpan.FromDays(1), "Webhooks:MaxBackoff must be at least Webhooks:InitialBackoff and at most 1.00:00:00");
        Check(failures, options.MaxAttempts is >= 1 and <= 1000, "Webhooks:MaxAttempts must be between 1 and 1000");
        Check(failures, options.MaxAge >= TimeSpan.FromMinutes(1) && options.MaxAge <= TimeSpan.FromDays(30), "Webhooks:MaxAge must be between 00:01:00 and 30.00:00:00");
        Check(failures, options.KeepDays is >= 0 and <= 3650, "Webhooks:KeepDays must be between 0 and 3650");
        Check(failures, options.MaxConcurrency is >= 1 and <= 64, "Webhooks:MaxConcurrency must be between 1 and 64");
        Check(failures, Uri.TryCreate(options.Source, UriKind.Absolute, out _), "Webhooks:Source must be an absolute URI (e.g. urn:trustserver or https://notary.example.com)");

        var urls = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Endpoints.Count; i++)
        {
            var endpoint = options.Endpoints[i];
            var key = $"Webhooks:Endpoints:{i}";
            var urlValid = WebhookEndpoint.IsValidUrl(endpoint.Url);
            Check(failures, urlValid, $"{key}:Url must be an absolute http or https URL without user info, at most {Data.Webhooks.WebhookLimits.UrlMaxLength} characters");
            Check(failures, !urlValid || urls.Add(endpoint.Url!), $"{key}:Url repeats an earlier endpoint's URL");
            Check(failures, endpoint.Secret is not null && Encoding.UTF8.GetByteCount(endpoint.Secret) >= WebhookOptions.MinSecretBytes,
                $"{key}:Secret must be at least {WebhookOptions.MinSecretBytes} bytes");
            var events = endpoint.EventTypes.ToList();
            Check(failures, events.Count > 0, $"{key}:Events must name at least one of {string.Join(", ", WebhookEventTypes.All)}");
            foreach (var unknown in events.Where(e => !WebhookEventTypes.All.Contains(e, StringComparer.Ordinal)).Distinct(StringComparer.Ordinal))
            {
                failures.Add($"{key}:Events: unknown event '{Printable(unknown)}' (known: {string.Join(", ", WebhookEventTypes.All)})");
            }

            Check(failures, GunPattern.IsValid(endpoint.GunPattern),
                $"{key}:GunPattern must be a GUN of at most 255 printable characters where * matches within one path segment and ** across segments (no ***)");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(List<string> failures, bool ok, string message)
    {
        if (!ok)
        {
            failures.Add(message);
        }
    }

    private static string Printable(string value)
    {
        var cut = value.Length > 40 ? value[..40] : value;
        return new string([.. cut.Select(c => char.IsControl(c) ? '?' : c)]);
    }
}

/// <summary>GUN patterns of endpoints: <c>*</c> within a path segment, <c>**</c> across segments, everything else literal.</summary>
internal static class GunPattern
{
    private const int MaxLength = 255;

    /// <summary>Whether <paramref name="pattern"/> is empty/absent (every GUN) or a valid pattern.</summary>
    public static bool IsValid(string? pattern) =>
        string.IsNullOrEmpty(pattern)
        || (pattern.Length <= MaxLength && !pattern.Contains("***", StringComparison.Ordinal) && pattern.All(c => !char.IsControl(c) && !char.IsWhiteSpace(c)));

    /// <summary>A matcher for a valid pattern (linear time: no backtracking).</summary>
    public static Func<string, bool> Compile(string? pattern)
    {
        if (string.IsNullOrEmpty(pattern))
        {
            return _ => true;
        }

        var regex = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] != '*')
            {
                regex.Append(Regex.Escape(pattern[i].ToString()));
            }
            else if (i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                regex.Append(".*");
                i++;
            }
            else
            {
                regex.Append("[^/]*");
            }
        }

        var compiled = new Regex(regex.Append('$').ToString(), RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | RegexOptions.Singleline);
        return compiled.IsMatch;
    }
}
