using System.Reflection;
using System.Text.RegularExpressions;
using Xunit;

namespace TrustServer.Testing;

/// <summary>
/// The logging conventions of src/, checked over the <c>[LoggerMessage]</c> methods of the assemblies one process
/// loads: every event has an explicit id inside its assembly's range (so that ids are unique in every process), no
/// two events of the process share an id, and every structured property (<c>{Placeholder}</c>) is PascalCase
/// (<c>Gun</c>, <c>Role</c>, <c>Version</c>, <c>KeyId</c>), as in the request log.
/// </summary>
public static partial class LogEventConventions
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;

    /// <summary>Event id ranges per assembly (README, "Logs").</summary>
    private static readonly Dictionary<string, (int First, int Last)> Ranges = new()
    {
        ["TrustServer.Server"] = (1000, 1999),
        ["TrustServer.Data"] = (2000, 2099),
        ["TrustServer.Signing"] = (3000, 3199),
        ["TrustServer.Signer"] = (4000, 4999),
        ["TrustServer.Tuf"] = (5000, 5099),
    };

    /// <summary>
    /// Fails with every breach of the conventions in the assemblies of one process, given by a type of each; the
    /// first is the host's, which must declare events.
    /// </summary>
    public static void AssertFollowed(params Type[] processTypes)
    {
        var events = Find(processTypes.Select(t => t.Assembly).Distinct());
        Assert.Contains(events, e => e.Assembly == processTypes[0].Assembly.GetName().Name);
        var violations = Violations(events);
        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
    }

    private sealed record LogEvent(string Assembly, string Method, int EventId, string Message);

    private static List<LogEvent> Find(IEnumerable<Assembly> assemblies) =>
        [.. from assembly in assemblies
            from type in assembly.GetTypes()
            from method in type.GetMethods(Declared)
            from attribute in method.GetCustomAttributesData()
            where attribute.AttributeType.FullName == "Microsoft.Extensions.Logging.LoggerMessageAttribute"
            select new LogEvent(
                assembly.GetName().Name!,
                $"{type.FullName}.{method.Name}",
                (int?)Argument(attribute, "EventId", 0) ?? -1,
                (string?)Argument(attribute, "Message", 2) ?? string.Empty)];

    private static List<string> Violations(IReadOnlyList<LogEvent> events)
    {
        var problems = new List<string>();
        foreach (var e in events)
        {
            if (!Ranges.TryGetValue(e.Assembly, out var range))
            {
                problems.Add($"{e.Method}: no event id range for assembly {e.Assembly}");
            }
            else if (e.EventId < range.First || e.EventId > range.Last)
            {
                problems.Add($"{e.Method}: event id {e.EventId} outside {e.Assembly}'s range {range.First}–{range.Last}");
            }

            problems.AddRange(
                from placeholder in Placeholders(e.Message)
                where !PascalCase().IsMatch(placeholder)
                select $"{e.Method}: property {{{placeholder}}} is not PascalCase");
        }

        problems.AddRange(
            from e in events
            group e by e.EventId into same
            where same.Count() > 1
            select $"event id {same.Key} used by {string.Join(", ", same.Select(e => e.Method))}");
        return problems;
    }

    // Names of {Name}, {Name:format} and {Name,alignment}; {{ and }} are literal braces.
    private static IEnumerable<string> Placeholders(string message) =>
        PlaceholderPattern().Matches(message.Replace("{{", string.Empty, StringComparison.Ordinal)).Select(m => m.Groups[1].Value);

    // A named argument, else the one at `position` of LoggerMessageAttribute(int eventId, LogLevel level, string message).
    private static object? Argument(CustomAttributeData attribute, string name, int position) =>
        attribute.NamedArguments.FirstOrDefault(a => a.MemberName == name) is { MemberInfo: not null } named ? named.TypedValue.Value
        : attribute.ConstructorArguments.Count == 3 ? attribute.ConstructorArguments[position].Value
        : null;

    [GeneratedRegex(@"\{([^{}:,]+)[^{}]*\}")]
    private static partial Regex PlaceholderPattern();

    [GeneratedRegex("^[A-Z][A-Za-z0-9]*$")]
    private static partial Regex PascalCase();
}
