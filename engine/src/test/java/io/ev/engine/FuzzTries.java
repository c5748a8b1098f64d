/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import net.jqwik.api.Example;
import net.jqwik.api.lifecycle.AroundPropertyHook;
import net.jqwik.api.lifecycle.PropagationMode;
import net.jqwik.api.lifecycle.PropertyExecutionResult;
import net.jqwik.api.lifecycle.PropertyExecutor;
import net.jqwik.api.lifecycle.PropertyLifecycleContext;

/**
 * The bad-input fuzz properties' knobs (docs/RELIABILITY.md, "Bad input"): each property declares modest
 * tries for the build; {@code -Dev.fuzz.tries=N} runs every such property N times instead, and
 * {@code -Dev.fuzz.seed=S} reruns one with the seed jqwik printed when it failed
 * ({@code seed = S} in the report). Added with {@code @AddLifecycleHook(FuzzTries.class)}.
 */
public final class FuzzTries implements AroundPropertyHook
{
    /** System property: tries of every fuzz property (default: what the property declares). */
    public static final String TRIES_PROPERTY = "ev.fuzz.tries";
    /** System property: the seed to run the fuzz properties with (default: a random one, printed). */
    public static final String SEED_PROPERTY = "ev.fuzz.seed";

    /**
     * Added to a test class, applies to each of its properties.
     */
    public PropagationMode propagateTo()
    {
        return PropagationMode.ALL_DESCENDANTS;
    }

    public PropertyExecutionResult aroundProperty(
        final PropertyLifecycleContext context, final PropertyExecutor property)
    {
        final String tries = System.getProperty(TRIES_PROPERTY);
        if (null != tries && !context.targetMethod().isAnnotationPresent(Example.class))
        {
            context.attributes().setTries(Integer.parseInt(tries.trim()));
        }
        final String seed = System.getProperty(SEED_PROPERTY);
        if (null != seed)
        {
            context.attributes().setSeed(seed.trim());
        }
        return property.execute();
    }
}
