using Cluster.Testing;

namespace Cluster.LoadTest.Tests;

[CollectionDefinition(Name)]
public sealed class SharedSilo : ICollectionFixture<SiloFixture>
{
    public const string Name = "silo";
}
