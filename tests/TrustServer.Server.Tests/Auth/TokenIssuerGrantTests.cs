using TrustServer.Server.Auth;

namespace TrustServer.Server.Tests.Auth;

/// <summary>The built-in issuer grants requested ∩ configured grants.</summary>
public sealed class TokenIssuerGrantTests
{
    private static readonly IssuerGrant[] TeamPush = [new() { Pattern = "example.com/team/*", Actions = "push,pull" }];

    [Fact]
    public void Grant_RequestedWithinGrants_Granted()
    {
        var access = TokenIssuer.Grant(Scopes.Parse(["repository:example.com/team/a/b:push,pull"]), TeamPush);
        var entry = Assert.Single(access);
        Assert.Equal(["push", "pull"], entry.Actions);
    }

    [Fact]
    public void Grant_StarRequested_GivesOnlyHeldActions()
    {
        var entry = Assert.Single(TokenIssuer.Grant(Scopes.Parse(["repository:example.com/team/a:*"]), TeamPush));
        Assert.Equal(["push", "pull"], entry.Actions);
        Assert.DoesNotContain("*", entry.Actions);
    }

    [Fact]
    public void Grant_OtherGunOrType_NothingGranted()
    {
        Assert.Empty(TokenIssuer.Grant(Scopes.Parse(["repository:example.com/teamx/a:pull"]), TeamPush));
        Assert.Empty(TokenIssuer.Grant(Scopes.Parse(["repository:example.com/team:pull"]), TeamPush));
        Assert.Empty(TokenIssuer.Grant(Scopes.Parse(["registry:catalog:*"]), TeamPush));
    }

    [Fact]
    public void Grant_PullOnly_PushDropped()
    {
        var entry = Assert.Single(TokenIssuer.Grant(Scopes.Parse(["repository:example.com/team/a:push,pull"]), [new IssuerGrant { Pattern = "example.com/*", Actions = "pull" }]));
        Assert.Equal(["pull"], entry.Actions);
    }

    [Fact]
    public void Scopes_ParseSpaceSeparatedAndNamesWithPorts()
    {
        var scopes = Scopes.Parse(["repository:localhost:5000/a:pull registry:catalog:*"]);
        Assert.Equal("localhost:5000/a", scopes[0].Name);
        Assert.Equal("catalog", scopes[1].Name);
    }

    [Fact]
    public void HashPassword_IsNotThePassword_AndVerifies()
    {
        var hash = TokenIssuer.HashPassword("s3cret");
        Assert.DoesNotContain("s3cret", hash, StringComparison.Ordinal);
        Assert.NotEqual(TokenIssuer.HashPassword("s3cret"), hash);
    }
}
