using TrustServer.Data;
using TrustServer.Server;
using TrustServer.Signing;
using TrustServer.Testing;
using TrustServer.Tuf;

namespace TrustServer.Server.Tests.Logging;

/// <summary>The logging conventions (<see cref="LogEventConventions"/>) over the assemblies of the server process.</summary>
public sealed class LogEventConventionTests
{
    [Fact]
    public void ServerProcessEventsHaveUniqueIdsAndPascalCaseProperties()
    {
        var assemblies = new[] { typeof(TrustServerHost), typeof(IMetadataStore), typeof(ISigningService), typeof(TufFormatException) }.Select(t => t.Assembly);
        Assert.Contains(LogEventConventions.Find(assemblies), e => e.Assembly == "TrustServer.Server");
        var violations = LogEventConventions.Violations(assemblies);
        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
    }
}
